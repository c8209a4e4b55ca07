-- The platform's own database; the example catalogue's postgres-database template creates
-- databases beside it through the postgres superuser (GANGPLANK_POSTGRES_URL).
CREATE ROLE gangplank LOGIN PASSWORD 'gangplank';
CREATE DATABASE gangplank OWNER gangplank;
