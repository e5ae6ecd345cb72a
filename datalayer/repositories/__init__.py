"""Repositories: the query surface application code calls, one module per aggregate.

The contract every repository follows
-------------------------------------

Verbs mean the same everywhere:

- ``create_*`` / ``create`` stores a row and returns its ``...Out`` model.
- ``get_*`` / ``get`` returns the ``...Out`` or raises :class:`~datalayer.errors.NotFoundError`
  when the row is missing *or* is not the acting user's (the same message either way, so a
  caller never learns that another user's row exists).
- ``find_*`` / ``find`` returns the ``...Out`` or ``None``; it never raises for a missing row.
  ``find_recipes_by_ids`` is the bulk form: the rows found, in the order asked.
- ``list_*`` returns a :class:`~datalayer.schemas.common.Page` (``items, total, limit, offset,
  has_more``) and accepts ``sort``: one key from the method's documented whitelist,
  ``-key`` for descending (e.g. ``"-created_at"``, ``"title"``); anything else is
  :class:`~datalayer.errors.InvalidInputError`. NULLs sort last; ties are broken by the
  primary key so pages are stable.
- ``update_*`` / ``update`` returns the updated ``...Out``; NotFoundError when missing; an
  update that changes nothing is InvalidInputError.
- ``delete_*`` / ``delete`` returns ``None``; NotFoundError when missing.

The seed's method names are kept where the seed fixes them (``store_embedding``,
``search_recipes``, ``calculate_taste_profile``, ...), with these meanings.

Arguments: the acting ``user_id`` comes first, then the entity id, then the payload; options
are keyword-only. System operations (the AI queue, embedding maintenance, the catalogue,
profile refresh) take no user. Payloads are ``...In`` (create), ``...Update`` models or
plain dicts; results are ``...Out`` models; query options are ``...Filters`` models. The
same idea has the same name everywhere (``model_version``, never ``version``).

Inputs are validated before the database is touched, and every error is from
:mod:`datalayer.errors`: a ``None``, a string or a float where a list or an integer belongs
(``limit="5"``, ``tags="x"``, ``recipe_ids=None``) is InvalidInputError, never a
``TypeError``; nothing is written when a call fails.

Active users: a user who is deactivated or has a pending deletion request cannot create
content (recipes, ingredient lists, taste profiles, FoodSave rows and messages): those calls
raise ``NotFoundError("user not found")``, exactly as for a user that does not exist. Their
recipes are left out of similarity search. See :mod:`datalayer.repositories.active_users`.

User-owned FoodSave rows (pantry, meal plans, receipts, conversations) share one
implementation, :class:`~datalayer.repositories.owned.OwnedRepository`; tables without a
dedicated repository use :class:`~datalayer.repositories.crud.CrudRepository`.

Each method is one unit of work (its own transaction) unless it takes ``session=``.
"""
