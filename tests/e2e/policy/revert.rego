# A conftest-style policy over a plan in Terraform's JSON shape
# (`terraform show -json`, `rewind plan --format terraform-json`): what a
# pipeline would check before it lets a revert run.
package rewind.revert

import rego.v1

# Objects that hold data: never destroyed by a revert without a person.
data_bearing := {"aws_db_instance", "aws_rds_cluster", "aws_s3_bucket", "aws_efs_file_system", "aws_dynamodb_table"}

deny contains msg if {
	some rc in input.resource_changes
	rc.type in data_bearing
	"delete" in rc.change.actions
	msg := sprintf("%s would be destroyed (%s)", [rc.address, object.get(rc, "action_reason", "replaced")])
}

replaced := [rc.address |
	some rc in input.resource_changes
	"delete" in rc.change.actions
	"create" in rc.change.actions
]

warn contains msg if {
	count(replaced) > 1
	msg := sprintf("%d objects are replaced: %s", [count(replaced), concat(", ", replaced)])
}

# tf-summarize's counts
summary := {
	"add": count([rc | some rc in input.resource_changes; rc.change.actions == ["create"]]),
	"change": count([rc | some rc in input.resource_changes; rc.change.actions == ["update"]]),
	"destroy": count([rc | some rc in input.resource_changes; rc.change.actions == ["delete"]]),
	"replace": count(replaced),
	"moved": count([rc | some rc in input.resource_changes; rc.previous_address]),
	"unchanged": count([rc | some rc in input.resource_changes; rc.change.actions == ["no-op"]]),
}

# what apply alone will know, per address
known_after_apply contains rc.address if {
	some rc in input.resource_changes
	some _, v in rc.change.after_unknown
	v == true
}

# sensitive values a report must not print
sensitive_after contains rc.address if {
	some rc in input.resource_changes
	contains(json.marshal(rc.change.after_sensitive), "true")
}
