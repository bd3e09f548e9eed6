-- A batch's folded changes to people in one statement: the rows of employees
-- hired in the batch ($1-$8), and the changed columns of the others ($9-$18,
-- NULL keeps a column; manager_id is set where sets_manager). The two sets
-- name different employees, so neither part needs to see the other's rows.
WITH hired AS (
    INSERT INTO people (tenant_id, employee_id, display_name, department, role_title, manager_id,
                        active, hired_on, last_event_version)
    SELECT h.tenant_id, h.employee_id, h.display_name, h.department, h.role_title, h.manager_id,
           true, h.hired_on, h.version
    FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::date[],
                $8::bigint[])
         AS h(tenant_id, employee_id, display_name, department, role_title, manager_id, hired_on, version)
)
UPDATE people p SET
    display_name = COALESCE(c.display_name, p.display_name),
    department = COALESCE(c.department, p.department),
    role_title = COALESCE(c.role_title, p.role_title),
    manager_id = CASE WHEN c.sets_manager THEN c.manager_id ELSE p.manager_id END,
    active = COALESCE(c.active, p.active),
    last_event_version = c.version,
    updated_at = CASE WHEN c.touched THEN now() ELSE p.updated_at END
FROM unnest($9::uuid[], $10::uuid[], $11::text[], $12::text[], $13::text[], $14::bool[],
            $15::uuid[], $16::bool[], $17::bigint[], $18::bool[])
     AS c(tenant_id, employee_id, display_name, department, role_title, sets_manager, manager_id,
          active, version, touched)
WHERE p.tenant_id = c.tenant_id AND p.employee_id = c.employee_id
