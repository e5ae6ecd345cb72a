"""Operations on the whole database: backups and their validation, maintenance."""
