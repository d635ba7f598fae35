-- The sqlite3 guest's workload (read on stdin by an in-memory shell): tables, inserts, a join,
-- aggregates, a recursive CTE, window functions and printf. Deterministic: no dates, no random().
CREATE TABLE team (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE player (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    team_id INTEGER NOT NULL REFERENCES team(id),
    points INTEGER NOT NULL,
    rating REAL NOT NULL
);
INSERT INTO team (id, name) VALUES (1, 'otters'), (2, 'herons'), (3, 'lynxes'), (4, 'badgers');
INSERT INTO player (name, team_id, points, rating) VALUES
    ('ada', 1, 52, 7.25), ('grace', 1, 61, 8.5), ('alan', 3, 58, 6.75),
    ('edsger', 3, 49, 9.0), ('barbara', 2, 43, 5.5), ('ken', 4, 55, 7.0);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO player (name, team_id, points, rating)
    SELECT printf('p%04d', i), 1 + (i * 7) % 4, (i * 37) % 101, ((i * 13) % 40) / 4.0 FROM n;
CREATE INDEX player_by_team ON player (team_id);
SELECT count(*) AS players, sum(points) AS points, printf('%.4f', avg(rating)) AS rating FROM player;
.headers on
.mode column
SELECT t.name AS team, count(*) AS size, sum(p.points) AS total, max(p.points) AS best,
       printf('%.3f', avg(p.rating)) AS avg_rating
  FROM player p JOIN team t ON t.id = p.team_id
 GROUP BY t.name ORDER BY total DESC, team;
SELECT p.name, t.name AS team, p.points
  FROM player p JOIN team t ON t.id = p.team_id
 WHERE p.points > (SELECT avg(points) FROM player WHERE team_id = p.team_id) AND p.id <= 6
 ORDER BY p.points DESC;
.mode list
SELECT group_concat(name, ',') AS founders FROM (SELECT name FROM player WHERE id <= 6 ORDER BY name);
SELECT team, name, points FROM (
    SELECT t.name AS team, p.name, p.points,
           row_number() OVER (PARTITION BY t.id ORDER BY p.points DESC, p.name) AS rank
      FROM player p JOIN team t ON t.id = p.team_id)
 WHERE rank <= 2 ORDER BY team, rank;
WITH RECURSIVE fib(k, a, b) AS (SELECT 0, 0, 1 UNION ALL SELECT k + 1, b, a + b FROM fib WHERE k < 60)
SELECT printf('fib(%d) = %d', k, a) FROM fib WHERE k % 20 = 0;
SELECT printf('%-8s|%6.2f|%x|%q', 'sql', 3.14159, 255, 'it''s'), upper(substr('webassembly', 4, 8)),
       length(replace(hex(zeroblob(8)), '0', '')) AS zero;
SELECT 'done';
