"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from datalayer.models.audit import AuditLog, AuditLogRetention
from datalayer.models.base import Base
from datalayer.models.catalog import Category, Product
from datalayer.models.conversations import Conversation, Message
from datalayer.models.embeddings import RecipeEmbedding
from datalayer.models.gdpr import ConsentRecord, ErasureLedgerEntry
from datalayer.models.ingredients import ParsedIngredient
from datalayer.models.meal_plans import MealPlan
from datalayer.models.pantry import PantryItem
from datalayer.models.receipts import Receipt, ReceiptItem
from datalayer.models.recipes import Recipe, RecipeIngredient
from datalayer.models.search_tuning import VectorSearchTuning
from datalayer.models.system import CacheEntry, SystemLog
from datalayer.models.taste_profiles import UserTasteProfile
from datalayer.models.users import DataExportRequest, User, UserSession

__all__ = [
    "AuditLog",
    "AuditLogRetention",
    "Base",
    "CacheEntry",
    "Category",
    "ConsentRecord",
    "Conversation",
    "DataExportRequest",
    "ErasureLedgerEntry",
    "MealPlan",
    "Message",
    "PantryItem",
    "ParsedIngredient",
    "Product",
    "Receipt",
    "ReceiptItem",
    "Recipe",
    "RecipeEmbedding",
    "RecipeIngredient",
    "SystemLog",
    "User",
    "UserSession",
    "UserTasteProfile",
    "VectorSearchTuning",
]
