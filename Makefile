# Kontor. `make run` and `make test` are all a new machine needs.
SHELL := /bin/bash
JOBS ?= 2
DEBUG_DIR := build/debug
RELEASE_DIR := build/release
FUZZ_DIR := build/fuzz
DB ?= sqlite:./data/kontor.db
LISTEN ?= 127.0.0.1:8080
FUZZ_SECONDS ?= 60

.PHONY: deps build release web run test unit bench bench-segment bench-sync bench-ach bench-pdf bench-events bench-push bench-email fuzz format clean

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(DEBUG_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKONTOR_SANITIZE=ON >/dev/null
	@ninja -C $(DEBUG_DIR) -j$(JOBS)

release: deps
	@cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DKONTOR_TESTS=OFF >/dev/null
	@ninja -C $(RELEASE_DIR) -j$(JOBS) kontor

web: deps
	@cd web && npm run build --silent

run: release web
	@mkdir -p data
	KONTOR_HTTP_WEB_ROOT=$(CURDIR)/web/dist $(RELEASE_DIR)/kontor serve --demo --db $(DB) --listen $(LISTEN)

test: build web
	@bash tests/run.sh $(DEBUG_DIR)

unit: build
	@ctest --test-dir $(DEBUG_DIR) --output-on-failure -j$(JOBS)

bench: release
	@bash bench/http.sh $(RELEASE_DIR)/kontor

bench-segment: release
	@bash bench/segment.sh $(RELEASE_DIR)/kontor

bench-sync: release
	@bash bench/sync.sh $(RELEASE_DIR)/kontor

bench-events: release
	@bash bench/events.sh $(RELEASE_DIR)/kontor

bench-push: release
	@bash bench/push.sh $(RELEASE_DIR)/kontor

bench-email: release
	@bash bench/email.sh $(RELEASE_DIR)/kontor

bench-ach:
	@bash bench/ach.sh

bench-pdf:
	@bash bench/pdf.sh

fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DKONTOR_FUZZ=ON -DKONTOR_TESTS=OFF >/dev/null
	@ninja -C $(FUZZ_DIR) -j$(JOBS)
	@set -eo pipefail; for f in $(FUZZ_DIR)/*_fuzz; do \
	  name=$$(basename $$f); corpus=$(FUZZ_DIR)/corpus/$$name; mkdir -p $$corpus; \
	  seeds=src/*/fuzz_corpus/$$name; [ -d "$$seeds" ] && cp -n $$seeds/* $$corpus/ 2>/dev/null || true; \
	  echo "== $$name ($(FUZZ_SECONDS) s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=8192 $$corpus 2>&1 | grep -E '^Done|ERROR|SUMMARY' ; \
	done

format:
	@find src bench -name '*.h' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf build
