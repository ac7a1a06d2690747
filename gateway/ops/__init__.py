"""The operators' product: what the queues hold, what each back-end does, and the actions taken on them."""
