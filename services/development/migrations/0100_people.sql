-- What the development service knows of each employee, built from the
-- employees service's events (consumer "development-people").
CREATE TABLE people (
    tenant_id          uuid NOT NULL,
    employee_id        uuid NOT NULL,
    display_name       text NOT NULL,
    department         text NOT NULL,
    role_title         text NOT NULL,
    manager_id         uuid,
    active             boolean NOT NULL,
    hired_on           date NOT NULL,
    last_event_version bigint NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, employee_id)
);
