"""The CDK app: one stack (``ManagedAccountsStack``) composed of one construct per capability."""
