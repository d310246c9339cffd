from certifia_shared.migrations_env import run_migrations
from certifia_thesis.adapters.orm import metadata

run_migrations(metadata)
