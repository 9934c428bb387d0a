"""Size limits shared by the walker, the evaluation harness and the settings defaults."""

from __future__ import annotations

MAX_FILE_BYTES = 1_000_000  # larger files are skipped (Settings.max_file_bytes, --max-file-size)
BINARY_SNIFF_BYTES = 8192  # a NUL byte in this much of a file's head marks it binary
# A file changed this close to when its stat was recorded is not trusted by that stat: an edit in
# the same timestamp tick (2 s on FAT, 1 s on ext3 and HFS+) leaves the stat as it was (git's
# "racily clean" entries).  Used by the reuse of whole packs and by the walker's stat-keyed digests.
RACY_NS = 2_000_000_000
