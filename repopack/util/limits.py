"""Size limits shared by the walker, the evaluation harness and the settings defaults."""

from __future__ import annotations

MAX_FILE_BYTES = 1_000_000  # larger files are skipped (Settings.max_file_bytes, --max-file-size)
BINARY_SNIFF_BYTES = 8192  # a NUL byte in this much of a file's head marks it binary
