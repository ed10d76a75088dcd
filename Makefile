# Two commands do everything on a fresh machine: `make demo` and `make test`.
.PHONY: setup demo test test-slow bench
setup:
	bash scripts/setup.sh
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
test-slow:
	bash scripts/test.sh -m slow
bench:
	bash scripts/setup.sh bench && bash bench/run.sh quick
