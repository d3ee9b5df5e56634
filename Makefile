# RoboSoul — one machine, one command. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

# Triton's python backend embeds the system libpython3.11, so the environment it
# imports models from must be made by that same interpreter (a Triton pitfall found in the design notes).
PYTHON_BASE ?= $(shell if [ -x /usr/bin/python3.11 ]; then echo /usr/bin/python3.11; else command -v python3.11; fi)
VENV        := .venv
PY          := $(VENV)/bin/python
PROTOC_VENV := .venv-protoc
BUILD       := build
PACKAGES    := libs/core sdk/python services/gateway services/motion services/simulation services/language services/voice services/perception libs/devstack
# The generalist policy trains on every training body of the simulation's registry
# (robosoul_simulation.bodies); the held-out bodies never enter its demonstrations.
POLICY      := $(BUILD)/policy/generalist/policy.onnx
DEMOS       := $(BUILD)/demos/training/.stamp
DEMO_SKILLS := reach pose path grasp
# Extra reach episodes per body on top of the defaults (reach is what onboarding is judged on).
REACH_EXTRA := 300
# What the demonstrations and the training read (the simulation service's serving,
# onboarding and virtual-robot code does not change them, so editing it retrains nothing).
SIM_NOT_TRAINING := $(addprefix services/simulation/src/robosoul_simulation/,__main__.py config.py service.py onboarding.py validate.py virtual_robot.py camera.py tabletop.py)
POLICY_SRC  := $(filter-out $(SIM_NOT_TRAINING),$(shell find services/simulation/src services/motion/src/robosoul_motion/training libs/core/src/robosoul_core/policy_io.py -name '*.py' -o -name '*.xml' 2>/dev/null))
PYTEST_ARGS ?=
# llama-cpp-python has no prebuilt wheel here: a portable build (the native one
# crashed with SIGILL on other CPUs). About 6 minutes once; pip caches the wheel.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  \033[1m%-17s\033[0m %s\n", $$1, $$2}'

env: $(VENV)/.stamp ## Create or update the project's Python environment (.venv)

$(VENV)/.stamp: requirements/dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	@test -n "$(PYTHON_BASE)" || { echo "error: python3.11 not found (set PYTHON_BASE)"; exit 1; }
	@PYTHON_BASE=$(PYTHON_BASE) tools/ensure-system.sh
	@echo "==> environment: $(VENV) from $(PYTHON_BASE) (pip caches downloads in ~/.cache/pip)"
	$(PYTHON_BASE) -m venv $(VENV)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation $(addprefix -e ,$(PACKAGES))
	@touch $@

# mediapipe (people, faces, hands) needs numpy<2 and protobuf<5: its own environment,
# where the perception service's people worker runs. About 1.5 minutes and 1.1 GB once.
PERCEPTION_VENV := .venv-perception
perception-env: $(PERCEPTION_VENV)/.stamp ## Create the perception service's mediapipe environment (.venv-perception)
$(PERCEPTION_VENV)/.stamp: requirements/perception.txt
	$(PYTHON_BASE) -m venv $(PERCEPTION_VENV)
	$(PERCEPTION_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/perception.txt
	@touch $@

$(PROTOC_VENV)/.stamp: requirements/protoc.txt
	$(PYTHON_BASE) -m venv $(PROTOC_VENV)
	$(PROTOC_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/protoc.txt
	@touch $@

proto: $(PROTOC_VENV)/.stamp ## Regenerate the protocol code (libs/core/src/robosoul) from proto/
	$(PROTOC_VENV)/bin/python tools/protogen.py

proto-check: $(PROTOC_VENV)/.stamp ## Fail if the committed protocol code is stale
	$(PROTOC_VENV)/bin/python tools/protogen.py --check

demos: $(DEMOS) ## Collect expert demonstrations of every training body in MuJoCo (one .npz per body)
$(DEMOS): $(POLICY_SRC) | $(VENV)/.stamp
	rm -rf $(BUILD)/demos/training $(BUILD)/demos/training-reach
	$(PY) -m robosoul_simulation.demos --embodiment training --skills $(DEMO_SKILLS) --out $(BUILD)/demos/training/
	$(PY) -m robosoul_simulation.demos --embodiment training --skills reach --episodes $(REACH_EXTRA) --seed 1 --out $(BUILD)/demos/training-reach/
	@touch $@

# The trained policy depends only on POLICY_SRC, the settings above and the pinned
# requirements: a copy is kept under their hash in POLICY_CACHE, so a fresh clone on a
# machine that trained from the same sources before (CI, a second checkout) reuses it
# instead of ~18 minutes of demonstrations and training. `POLICY_CACHE=` turns it off.
POLICY_CACHE ?= $(HOME)/.cache/robosoul/policy
POLICY_KEY    = $(shell { cat $(sort $(POLICY_SRC)) requirements/dev.txt; echo "$(DEMO_SKILLS) $(REACH_EXTRA)"; } | sha256sum | cut -c1-20)

policy-key:  # the cache key of the current policy sources
	@echo $(POLICY_KEY)

policy: $(POLICY) ## Train the generalist policy across bodies, export it to ONNX and evaluate it (or reuse a cached one)
$(POLICY): $(POLICY_SRC) | $(VENV)/.stamp
	@cached="$(POLICY_CACHE)/$(POLICY_KEY)"; \
	if [ -n "$(POLICY_CACHE)" ] && [ -f "$$cached/policy.onnx" ]; then \
		echo "==> policy: reusing $$cached (trained before from these exact sources)"; \
		mkdir -p $(@D) && cp "$$cached"/policy.* $(@D)/ && touch $@; \
	else \
		$(MAKE) --no-print-directory demos && \
		$(PY) -m robosoul_motion.training.train --demos $(BUILD)/demos/training $(BUILD)/demos/training-reach --out $@ && \
		$(PY) -m robosoul_simulation.evaluate --embodiment rs-arm4 --policy $@ --episodes 50 && \
		if [ -n "$(POLICY_CACHE)" ]; then \
			mkdir -p "$(POLICY_CACHE)" && tmp=$$(mktemp -d "$(POLICY_CACHE)/.new-XXXXXX") && cp $(@D)/policy.* "$$tmp"/ && \
			{ mv -T "$$tmp" "$$cached" 2>/dev/null || rm -rf "$$tmp"; }; \
		fi; \
	fi

demo: env policy perception-env ## The flagship demo: a person asks the virtual robot to pick up a cube; it hears, sees, plans, moves, answers
	$(PY) -m robosoul_devstack.flagship --policy $(POLICY)

demo-reach: env policy ## Drive the virtual robot through reach targets (control loop latency, one control trace)
	$(PY) -m robosoul_devstack.demo --policy $(POLICY)

test: env policy proto-check perception-env ## Run the whole test suite (unit + integration, real NATS/Triton/MuJoCo)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: env policy ## Control-loop benchmark: platform vs raw Triton at 1/10/50 robots
	$(PY) bench/control_loop.py --policy $(POLICY)

bench-policy: env policy ## Policy inference through Triton at batch 1/8/64 vs onnxruntime in process
	$(PY) bench/policy_latency.py --policy $(POLICY)

bench-sim: env ## Simulation throughput: parallel service vs raw MuJoCo, 1 and 2 cores
	$(PY) bench/simulation.py

bench-blending: env policy ## Chunk-boundary jump and jerk: latency-compensated blending vs naive switching
	$(PY) bench/chunk_blending.py --policy $(POLICY)

bench-language: env ## Language: plan accuracy, refusals, empathy, latency per backend on the evaluation set
	$(PY) bench/language.py --tools-cases 20

bench-language-platform: env policy ## Language through gateway and NATS: stop fast path and first reply sentence
	$(PY) bench/language_platform.py --policy $(POLICY)

bench-voice: env ## Voice: end of turn vs fixed silence, word error, emotion, echo and barge-in on the synthetic test split
	$(PY) bench/voice.py --seed 1

bench-voice-platform: env policy ## Voice to voice through gateway, NATS, voice, language and TTS; barge-in stop time
	$(PY) bench/voice_platform.py --policy $(POLICY)

bench-perception: env policy perception-env ## Perception: 3-D localisation on rendered tabletops, objects and people+faces frames/s per core
	$(PY) bench/perception.py --policy $(POLICY)

bench-frames: env ## Frames over one NATS message: object store put + fetch latency per frame size, vs nats-py's stock object store
	$(PY) bench/frames.py

bench-flagship: env policy perception-env ## The flagship demo over 40 randomised scenes (success rate, stage latencies)
	$(PY) bench/flagship.py --policy $(POLICY) --scenes 40

bench-onboarding: env policy ## Onboard the three held-out bodies through the platform (about 4 minutes)
	$(PY) bench/onboarding.py --policy $(POLICY)

lint: env ## Static checks
	$(PY) -m ruff check .

ci: lint test ## What CI runs

clean: ## Remove build outputs (keeps the environments)
	rm -rf $(BUILD) .pytest_cache

distclean: clean ## Remove build outputs and environments
	rm -rf $(VENV) $(PROTOC_VENV)

.PHONY: help env proto proto-check demos policy policy-key demo demo-reach test bench bench-policy bench-sim bench-blending bench-language bench-language-platform bench-voice bench-voice-platform bench-perception bench-frames bench-flagship bench-onboarding lint ci clean distclean perception-env
