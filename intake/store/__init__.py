"""Session store: one Protocol, a Redis implementation and the embedded one (same code over an in-process server)."""

from intake.store.base import LockTimeout, SessionStore
from intake.store.redis import RedisSessionStore, embedded_store, redis_store

__all__ = ["LockTimeout", "RedisSessionStore", "SessionStore", "embedded_store", "redis_store"]
