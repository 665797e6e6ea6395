"""`python -m analysis verify`: re-run a finished run or compare two (command), judged by the
precision policy's comparator (compare)."""
