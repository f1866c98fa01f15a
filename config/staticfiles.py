"""Static files under hashed names (compressed by WhiteNoise), so browsers never run stale JS after an upgrade."""

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    # CSS references are rewritten to hashed names; JS source-map comments are left alone, since the npm
    # bundles in var/vendor ship without their .map files (the rewrite would fail on the missing file).
    patterns = tuple(pattern for pattern in ManifestStaticFilesStorage.patterns if pattern[0] != "*.js")
