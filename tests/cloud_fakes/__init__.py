"""Local HTTP fakes of the OAuth clouds' documented APIs (the clouds themselves cannot be
reached from the test machines): real servers on loopback, started by session fixtures."""
