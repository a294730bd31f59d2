"""Settings from environment variables: the readers (and their rules) are
``common/env.py``, shared with the gateway, which must not import Django."""

from common.env import ConfigError, env_bool, env_choice, env_float, env_int, env_list, env_str

__all__ = ["ConfigError", "env_bool", "env_choice", "env_float", "env_int", "env_list", "env_str"]
