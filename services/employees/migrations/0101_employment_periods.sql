-- Every employment (tenure period) of every employee: the ground for
-- headcount and turnover per month. Kept inline with the events.
CREATE TABLE employment_periods (
    tenant_id       uuid NOT NULL,
    employee_id     uuid NOT NULL,
    period_no       integer NOT NULL CHECK (period_no > 0),
    started_on      date NOT NULL,
    ended_on        date,
    separation_type text,
    department      text NOT NULL,
    contract_kind   text NOT NULL,
    PRIMARY KEY (tenant_id, employee_id, period_no)
);
CREATE INDEX employment_periods_started ON employment_periods (tenant_id, started_on);
CREATE INDEX employment_periods_ended ON employment_periods (tenant_id, ended_on) WHERE ended_on IS NOT NULL;
