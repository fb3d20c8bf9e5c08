"""The fast back-end's device choice: the EGL device of the worker's GPU, and a loud refusal when a
GPU was asked for and EGL gave a software rasteriser (what this CPU-only machine has)."""

from __future__ import annotations

import numpy as np
import pytest

from facefarm.render.pyrender import device as gl_device


def test_the_egl_device_of_the_workers_gpu_is_chosen():
    assert gl_device.visible_cuda_ordinal({"CUDA_VISIBLE_DEVICES": "3,1"}) == 3
    assert gl_device.visible_cuda_ordinal({"CUDA_VISIBLE_DEVICES": ""}) is None
    assert gl_device.visible_cuda_ordinal({}) is None
    # EGL enumerates in its own order: the device whose CUDA id is 3, not the fourth one
    assert gl_device.egl_device_for(3, [None, 1, 3, 0]) == 2
    assert gl_device.egl_device_for(None, [None, 0]) == 0
    assert gl_device.egl_device_for(5, [0]) == 0


def test_software_rasterisers_are_refused_only_when_a_gpu_was_asked_for():
    gl_device.check_renderer("llvmpipe (LLVM 15.0.6, 256 bits)", "auto")
    gl_device.check_renderer("NVIDIA H100 80GB HBM3/PCIe/SSE2", "cuda")
    with pytest.raises(RuntimeError, match="software rasteriser"):
        gl_device.check_renderer("llvmpipe (LLVM 15.0.6, 256 bits)", "cuda")


def test_a_renderer_asked_for_a_gpu_on_this_cpu_machine_refuses(monkeypatch):
    import trimesh

    from facefarm.geometry.camera import Camera, intrinsics, look_at
    from facefarm.render.pyrender.renderer import PyrenderRenderer
    from facefarm.scene.model import Environment, Landmarks, Material, Mesh, Scene

    ball = trimesh.creation.icosphere(1, radius=0.1)
    cam = Camera(K=intrinsics(50, 36, 32, 32), world_to_camera=look_at((0, 0, 0.6), (0, 0, 0)), width=32, height=32)
    skin = Mesh(
        name="ball",
        vertices=np.asarray(ball.vertices, np.float32),
        faces=np.asarray(ball.faces, np.int32),
        face_class=np.ones(len(ball.faces), np.uint8),
        material=Material(name="ball", kind="skin"),
    )
    scene = Scene(
        meshes=(skin,),
        camera=cam,
        environment=Environment(hdri=None, color=(0.5, 0.5, 0.5)),
        landmarks=Landmarks(points=np.zeros((0, 3)), names=(), n_sparse=0),
        head_pose=np.eye(4),
    )
    auto = PyrenderRenderer(device="auto")
    auto.render(scene)
    renderer = auto.gl_renderer
    auto.close()
    if not any(s in renderer.lower() for s in gl_device.SOFTWARE_RENDERERS):
        pytest.skip(f"this machine renders on a GPU ({renderer})")
    monkeypatch.setenv("EGL_DEVICE_ID", "0")
    gpu = PyrenderRenderer(device="cuda")
    with pytest.raises(RuntimeError, match="asked for a GPU"):
        gpu.render(scene)
    gpu.close()
