"""The database schema: which models make it up, and bringing a database to the newest revision."""

from pathlib import Path

from alembic.config import Config

from alembic import command

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def load_all_models() -> None:
    """Import every module that defines tables, so SQLModel.metadata holds the whole schema."""
    import incidents.alerts.models
    import incidents.jobs
    import incidents.models
    import incidents.outbox
    import incidents.regulatory  # noqa: F401


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
