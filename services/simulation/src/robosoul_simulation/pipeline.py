"""The real onboarding stages: MuJoCo validation, expert demonstrations, adapter
training (robosoul_motion.training.adapt), parallel evaluation, and publishing
to Triton's model repository with a live load (no restart)."""

from __future__ import annotations

from pathlib import Path

from robosoul.v1 import onboarding_pb2, robot_pb2
from robosoul_core.errors import FailedPrecondition, Unavailable
from robosoul_motion import model_repo
from robosoul_simulation import demos as demo_lib
from robosoul_simulation import parallel
from robosoul_simulation.bodies import Arm, BodySource
from robosoul_simulation.config import SimulationConfig
from robosoul_simulation.evaluate import evaluate_policy
from robosoul_simulation.onboarding import Adapted, Progress
from robosoul_simulation.skills import SKILLS
from robosoul_simulation.validate import validate_model

SKILL_NAMES = {value: name for name, value in SKILLS.items()}


class SimulationPipeline:
    def __init__(self, config: SimulationConfig):
        self.config = config
        self.workers = config.workers or None  # None: one per CPU

    def base_checkpoint(self) -> Path:
        """The newest published version's checkpoint: onboarding extends what is served."""
        latest = model_repo.latest_version_dir(Path(self.config.model_repo), self.config.model_name)
        if latest is None or not (latest / "policy.pt").exists():
            raise FailedPrecondition(
                f"no published policy with a checkpoint in {self.config.model_repo}/{self.config.model_name}: publish the generalist first"
            )
        return latest / "policy.pt"

    def validate(self, embodiment: robot_pb2.Embodiment) -> onboarding_pb2.ModelReport:
        return validate_model(embodiment, timeout_s=self.config.validate_timeout_s)

    @staticmethod
    def arm(embodiment: robot_pb2.Embodiment, tag: str) -> Arm:
        """The robot's arm, built once per process (demonstrate and evaluate share it)."""
        model = embodiment.model
        return parallel.cached_arm(BodySource(
            tag=tag, mjcf=model.mjcf, assets={k: bytes(v) for k, v in model.assets.items()},
            ee_site=model.end_effector_site or None, joint_order=tuple(j.name for j in embodiment.joints),
        ))

    def demonstrate(self, embodiment, out: Path, *, tag: str, episodes: int, skills: list[int], progress: Progress) -> Path:
        arm = self.arm(embodiment, tag)
        data = demo_lib.collect(
            arm, skills=[SKILL_NAMES[s] for s in skills], episodes=episodes, workers=self.workers,
            progress=lambda done, total: progress(done / max(total, 1), f"{done}/{total} demonstration episodes"),
        )
        demo_lib.save(out, data)
        return out

    def adapt(self, base_checkpoint: Path, demos: Path, tag: str, out: Path, *, fine_tune: bool, progress: Progress) -> Adapted:
        from robosoul_motion.training.adapt import adapt  # torch: loaded only by workers that train

        result = adapt(base_checkpoint, demos, tag, out_dir=out, fine_tune=fine_tune, steps=self.config.adapt_steps,
                       progress=lambda fraction, message, eta_s: progress(fraction, message))
        return Adapted(onnx=result.onnx, sidecar=result.sidecar, checkpoint=result.checkpoint, tag=tag)

    def evaluate(self, adapted: Adapted, embodiment, *, episodes: int, skills: list[int], progress: Progress) -> onboarding_pb2.EvaluationReport:
        progress(0.0, f"{episodes} randomised episodes per skill")
        report = evaluate_policy(
            str(adapted.onnx), self.arm(embodiment, adapted.tag), skills=[SKILL_NAMES[s] for s in skills],
            episodes=episodes, workers=self.workers,
        )
        progress(1.0, f"success {report.success_rate:.0%}")
        return report.to_proto()

    def publish(self, adapted: Adapted) -> str:
        import tritonclient.grpc as triton
        from tritonclient.utils import InferenceServerException

        version = model_repo.publish(Path(self.config.model_repo), adapted.onnx, model_name=self.config.model_name, sidecar_path=adapted.sidecar)
        try:
            with triton.InferenceServerClient(self.config.triton_url) as client:
                client.load_model(self.config.model_name, client_timeout=self.config.triton_timeout_s)
                if not client.is_model_ready(self.config.model_name, str(version), client_timeout=self.config.triton_timeout_s):
                    raise Unavailable(f"Triton loaded {self.config.model_name} but version {version} is not ready")
        except InferenceServerException as exc:
            raise Unavailable(f"Triton at {self.config.triton_url} did not load version {version}: {exc.message()}") from None
        return f"{self.config.model_name}/{version}"
