-- The platform's own database, owned by `gangplank`, which only migrations connect as; web,
-- worker and beat connect as `gangplank_app`, which `manage.py grant_runtime_role` (run by
-- compose's migrate service) lets read and write rows, and nothing more. The example
-- catalogue's postgres-database template creates databases beside it through the postgres
-- superuser (GANGPLANK_POSTGRES_URL).
CREATE ROLE gangplank LOGIN PASSWORD 'gangplank';
CREATE ROLE gangplank_app LOGIN PASSWORD 'gangplank_app';
CREATE DATABASE gangplank OWNER gangplank;
