"""Use cases: the only place where the database and geo/ meet. Each public function owns its transaction."""
