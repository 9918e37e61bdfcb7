"""Meshes -> datasets (``sceneprior data render-meshes``): read a folder of meshes, put each into the generator's
frame (:mod:`.normalise`, pure numpy/trimesh) and render it in the generator's camera model and splits with
Mitsuba 3 (:mod:`.mitsuba_render`, the optional ``render`` extra), written in the SRN layout (:mod:`.dataset`)."""

from .normalise import MESH_SUFFIXES, MeshPart, Normalisation, find_meshes, load_mesh_parts, normalise_parts

__all__ = ["MESH_SUFFIXES", "MeshPart", "Normalisation", "find_meshes", "load_mesh_parts", "normalise_parts"]
