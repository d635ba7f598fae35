-- A small workload for the riscv64 sqlite3 shell under the process VM (read on stdin): a table, an
-- index, a join, aggregates, a recursive CTE, a window function, an error and printf of reals.
CREATE TABLE city (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, country TEXT, people REAL);
INSERT INTO city (name, country, people) VALUES ('lyon', 'fr', 0.52), ('porto', 'pt', 0.23),
    ('graz', 'at', 0.29), ('nice', 'fr', 0.34), ('braga', 'pt', 0.19);
CREATE INDEX city_by_country ON city (country);
SELECT country, count(*), printf('%.2f', sum(people)) FROM city GROUP BY country ORDER BY country;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
SELECT sum(i * i), group_concat(i % 7, '') FROM n;
SELECT name, rank() OVER (ORDER BY people DESC) FROM city ORDER BY name;
SELECT a.name, b.name FROM city a JOIN city b ON a.country = b.country AND a.id < b.id ORDER BY 1;
INSERT INTO city (name) VALUES ('lyon');
SELECT upper(substr('riscv sixty-four', 1, 5)), length(hex(zeroblob(4))), 7 / 2, 7 / 2.0, 1e300 * 1e10;
.mode line
SELECT typeof(people), quote(name) FROM city WHERE id = 2;
