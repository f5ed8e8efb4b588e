"""Pure domain core: exact units, books, orders, positions, state. No I/O."""
