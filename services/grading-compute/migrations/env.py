from certifia_grading.adapters.orm import metadata
from certifia_shared.migrations_env import run_migrations

run_migrations(metadata)
