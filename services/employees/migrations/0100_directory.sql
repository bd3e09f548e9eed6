-- The employee directory: one row per employee, kept in step with the events
-- inside every append (an inline projection). It also guards the rule that a
-- work email is unique per tenant: a second hire with the same email fails on
-- employee_directory_email_key inside its append transaction, so of two racing
-- hires exactly one commits.
CREATE TABLE employee_directory (
    tenant_id     uuid NOT NULL,
    employee_id   uuid NOT NULL,
    given_name    text NOT NULL,
    family_name   text NOT NULL,
    work_email    text NOT NULL,
    department    text NOT NULL,
    role_title    text NOT NULL,
    manager_id    uuid,
    status        text NOT NULL CHECK (status IN ('active', 'leaving', 'left')),
    contract_kind text NOT NULL,
    hired_on      date NOT NULL,
    version       bigint NOT NULL,
    PRIMARY KEY (tenant_id, employee_id),
    CONSTRAINT employee_directory_email_key UNIQUE (tenant_id, work_email)
);
CREATE INDEX employee_directory_manager ON employee_directory (tenant_id, manager_id) WHERE manager_id IS NOT NULL;
CREATE INDEX employee_directory_department ON employee_directory (tenant_id, department);
