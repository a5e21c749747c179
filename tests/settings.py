"""Test settings: the project's one settings file, with the environment a test run needs.

Set before the import so that `kabinet.config.settings` reads them exactly as it would in a
deployment; DATABASE_URL and REDIS_URL still come from the caller (CI runs the suite twice).
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("KABINET_HTTPS", "false")
os.environ.setdefault("KABINET_OUTBOX", "true")
os.environ.setdefault("LOG_FORMAT", "text")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("KABINET_VAR_DIR", tempfile.mkdtemp(prefix="kabinet-test-"))
os.environ.setdefault("SMS_INBOUND_SECRET", "test-inbound-secret")

from kabinet.config.settings import *  # noqa: F403

# Argon2 at full strength costs ~50 ms a hash; the suite hashes thousands of passwords.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# `kabinet demo` loads 20 000 products; tests that load the demo need only a few hundred.
KABINET_DEMO_PRODUCTS = 300
