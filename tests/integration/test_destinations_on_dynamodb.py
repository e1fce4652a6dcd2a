"""The destination and onboarding scenarios of the unit tests, run on the real DynamoDB adapter (moto).

The unit tests use the in-memory repository for speed; these prove the DynamoDB transactions and
conditional writes give the same outcomes (the ``world`` fixture here is moto-backed).
"""

from tests.unit.domain.test_destinations import (
    onboarded,
    test_a_change_dfns_refuses_fails_the_batch_and_frees_the_address,
    test_a_change_pending_in_dfns_that_is_not_ours_makes_the_queue_wait,
    test_a_crash_between_claim_and_submit_is_taken_over_after_the_lease,
    test_a_denied_change_rejects_the_request_and_the_address_can_be_asked_again,
    test_a_dynamodb_write_failing_after_the_put_is_recovered,
    test_a_lost_answer_whose_change_was_approved_meanwhile_is_recognised_as_enforced,
    test_a_request_is_submitted_as_one_change_and_approval_whitelists_it,
    test_an_approval_whose_change_dfns_failed_to_apply_fails_the_batch,
    test_apply_approval_is_forward_only_and_idempotent,
    test_change_request_created_but_answer_lost_is_adopted_not_duplicated,
    test_dfns_down_leaves_the_request_queued_and_a_later_submit_sends_it,
    test_removal_goes_through_approval_and_leaves_the_other_addresses,
    test_requests_made_while_a_change_is_in_flight_go_out_together_in_the_next_change,
)
from tests.unit.domain.test_onboarding import (
    test_a_dynamodb_write_failing_after_the_wallet_was_created_converges,
    test_dfns_down_during_the_policy_create_then_retry_converges,
    test_wallet_created_but_answer_lost_then_retry_finds_it_by_external_id,
)

__all__ = [
    "onboarded",
    "test_a_change_dfns_refuses_fails_the_batch_and_frees_the_address",
    "test_a_change_pending_in_dfns_that_is_not_ours_makes_the_queue_wait",
    "test_a_crash_between_claim_and_submit_is_taken_over_after_the_lease",
    "test_a_denied_change_rejects_the_request_and_the_address_can_be_asked_again",
    "test_a_dynamodb_write_failing_after_the_put_is_recovered",
    "test_a_dynamodb_write_failing_after_the_wallet_was_created_converges",
    "test_a_lost_answer_whose_change_was_approved_meanwhile_is_recognised_as_enforced",
    "test_a_request_is_submitted_as_one_change_and_approval_whitelists_it",
    "test_an_approval_whose_change_dfns_failed_to_apply_fails_the_batch",
    "test_apply_approval_is_forward_only_and_idempotent",
    "test_change_request_created_but_answer_lost_is_adopted_not_duplicated",
    "test_dfns_down_during_the_policy_create_then_retry_converges",
    "test_dfns_down_leaves_the_request_queued_and_a_later_submit_sends_it",
    "test_removal_goes_through_approval_and_leaves_the_other_addresses",
    "test_requests_made_while_a_change_is_in_flight_go_out_together_in_the_next_change",
    "test_wallet_created_but_answer_lost_then_retry_finds_it_by_external_id",
]
