#!/bin/sh
# The image's entrypoint: the data dir prepared (folders, generated keys: the settings only
# read them), then the command (gunicorn, celery, manage.py ...).
set -e
python "$(dirname "$0")/../manage.py" prepare_data_dir
exec "$@"
