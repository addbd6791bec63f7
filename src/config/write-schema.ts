// Placeholder until the JSON Schema generator lands.
