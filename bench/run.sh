#!/bin/sh
# The benchmark's one command: installs what is missing (nginx and wrk from Debian, LiteLLM in bench/.work/),
# runs every scenario against the upstream alone, lip and LiteLLM, prints the table, writes bench/results/.
# Options are run.py's: bench/run.sh --help
exec python3 "$(dirname "$0")/run.py" "$@"
