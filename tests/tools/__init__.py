"""Programs the tests and make targets run: stress.py (make stress),
interleave.py (make interleave), soak.py (make soak), netns_dualstack.py
(run by test_scaleout.py in a network namespace), and render_gopher.c, the
Gopher renderer's golden driver.  A package so that test_stress.py and
test_interleave_seeds.py can import the first two."""
