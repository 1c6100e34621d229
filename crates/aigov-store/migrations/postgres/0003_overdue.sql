-- Overdue treatment, in due-date order: a partial index whose predicate is exactly the
-- "untreated and open" condition of the register's overdue filter, the overdue list and the
-- dashboard count, so each reads only overdue rows, already sorted by due date.
CREATE INDEX risks_overdue_due ON risks(treatment_due, ref_num) WHERE treatment IS NULL AND status IN ('identified', 'assessed');
