"""Herald's data layer: the MongoDB client, one module per collection, the event stream."""
