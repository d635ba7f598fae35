-- The SQLite guest's demo script: tables, inserts, a join, aggregates and a recursive CTE.
CREATE TABLE department (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE employee (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    department_id INTEGER REFERENCES department(id),
    salary INTEGER NOT NULL
);
INSERT INTO department (id, name) VALUES (1, 'engineering'), (2, 'sales'), (3, 'research');
INSERT INTO employee (name, department_id, salary) VALUES
    ('ada', 1, 5200), ('grace', 1, 6100), ('alan', 3, 5800),
    ('edsger', 3, 4900), ('barbara', 2, 4300), ('ken', 1, 5500);
WITH RECURSIVE counter(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM counter WHERE n < 200)
INSERT INTO employee (name, department_id, salary)
    SELECT 'temp' || n, 1 + n % 3, 3000 + (n * 37) % 1000 FROM counter;
CREATE INDEX employee_by_department ON employee (department_id);
.headers on
.mode column
SELECT d.name AS department, count(*) AS people, sum(e.salary) AS payroll,
       round(avg(e.salary), 2) AS average, max(e.salary) AS top
  FROM employee e JOIN department d ON d.id = e.department_id
 GROUP BY d.name ORDER BY payroll DESC;
SELECT e.name, d.name AS department, e.salary
  FROM employee e JOIN department d ON d.id = e.department_id
 WHERE e.salary > (SELECT avg(salary) FROM employee WHERE department_id = e.department_id)
   AND e.name NOT LIKE 'temp%'
 ORDER BY e.salary DESC;
SELECT group_concat(name, ',') AS founders FROM (SELECT name FROM employee WHERE id <= 6 ORDER BY name);
SELECT printf('%.3f', sum(salary * 1.0) / count(*)) AS mean_salary, total(salary) AS total FROM employee;
