"""Croissant 1.0 metadata (JSON-LD, with the Responsible-AI vocabulary) of a rendered dataset.

:func:`croissant` turns the datasheet facts (:func:`facefarm.dataset.datasheet.audit`) and dataset.json into
the dict that ``facefarm audit`` writes as ``datasheet/croissant.json``:

* the dataset: name, description (the synthetic-data statement), licence (:data:`LICENCE`), creator,
  version, dates, citation, ``conformsTo`` Croissant 1.0;
* Responsible AI (``rai:``, http://mlcommons.org/croissant/RAI/1.0): how the data were made
  (``dataCollection``, ``dataCollectionType``), how they were labelled (``dataAnnotationProtocol``,
  ``machineAnnotationTools``), ``dataUseCases``, ``dataLimitations``, ``dataBiases`` (with the audit's
  largest imbalance), ``personalSensitiveInformation``, ``dataSocialImpact``, maintenance;
* ``distribution``: a FileObject for ``manifest.jsonl`` (its sha256 from dataset.json) and a FileSet
  of the ``samples/*.png`` files (images, segmentations, depth maps), and one of the ``samples/*.jpg`` or
  ``*.webp`` images when the catalog's ``outputs.image_format`` is JPEG or WebP;
* ``recordSet`` "samples", one record per manifest line: sample and identity ids, the three file
  paths, image size, the 70 landmarks and their visibility, face box, head pose and a few attributes;
  and "pngs", every PNG of the FileSet with its path.

Paths. ``contentUrl`` and ``includes`` are relative to the *dataset root* (where manifest.jsonl is),
not to the datasheet folder: Croissant readers (mlcroissant) resolve them against the folder the JSON-LD
file is in, so publish or load a copy of it at the dataset root (``cp OUT/datasheet/croissant.json OUT/``).
"""

from __future__ import annotations

from typing import Any

from facefarm import __version__

#: The licence facefarm's renders are released under (SPDX), as the Hugging Face export's card says.
LICENCE = "CC0-1.0"
LICENCE_URL = "https://creativecommons.org/publicdomain/zero/1.0/"
CROISSANT_FILE = "croissant.json"
CONFORMS_TO = "http://mlcommons.org/croissant/1.0"

#: The JSON-LD context of Croissant 1.0 with the RAI prefix (as mlcroissant writes it).
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

MANIFEST_ID, FILES_ID, RECORDS_ID, PNG_RECORDS_ID = "manifest.jsonl", "sample-pngs", "samples", "pngs"
#: The FileSet of a JPEG or WebP dataset's images; image_format -> (MIME type, extension).
IMAGES_ID, LOSSY_FORMATS = "sample-images", {"jpeg": ("image/jpeg", "jpg"), "webp": ("image/webp", "webp")}

#: (name, data type, manifest column, JSON path inside it or None, repeated, description)
FIELDS: tuple[tuple[str, str, str, str | None, bool, str], ...] = (
    # read from inside ``attributes``: readers that load JSON Lines with pandas turn a top-level "000042" into 42
    ("sample_id", "sc:Text", "attributes", "sample_id", False, "Sample id, unique in the dataset."),
    ("index", "sc:Integer", "index", None, False, "Sample index in the render plan."),
    (
        "identity_id",
        "sc:Text",
        "identity_id",
        None,
        False,
        "Synthetic identity id; samples sharing it are one generated person (splits are by identity).",
    ),
    (
        "image",
        "sc:Text",
        "files",
        "image",
        False,
        "Path of the sRGB image (PNG, JPEG or WebP), relative to the dataset root.",
    ),
    (
        "segmentation",
        "sc:Text",
        "files",
        "segmentation",
        False,
        "Path of the segmentation PNG (uint8 class ids, classes.json; 255 = IGNORE).",
    ),
    (
        "depth",
        "sc:Text",
        "files",
        "depth",
        False,
        "Path of the depth PNG (uint16; metres = value x depth_scale_m; 0 = no surface).",
    ),
    ("width", "sc:Integer", "width", None, False, "Image width, pixels."),
    ("height", "sc:Integer", "height", None, False, "Image height, pixels."),
    ("depth_scale_m", "sc:Float", "depth_scale_m", None, False, "Metres per depth PNG unit."),
    (
        "landmarks",
        "sc:Float",
        "landmarks",
        "uv",
        True,
        "70 x 2 landmark pixels (u, v): 68 iBUG 300-W points then the right and left pupil; origin at the "
        "image's top-left corner, pixel centres at +0.5.",
    ),
    (
        "landmarks_visible",
        "sc:Boolean",
        "landmarks",
        "visible",
        True,
        "Per landmark: in frame and not hidden (by the head itself, hair, glasses...).",
    ),
    ("landmarks_in_frame", "sc:Boolean", "landmarks", "in_frame", True, "Per landmark: inside the image."),
    ("face_bbox", "sc:Float", "face_bbox", None, True, "Box of the visible face-class pixels, [x0, y0, x1, y1]."),
    ("yaw_deg", "sc:Float", "head_pose", "yaw_deg", False, "Head yaw relative to the camera, degrees."),
    ("pitch_deg", "sc:Float", "head_pose", "pitch_deg", False, "Head pitch relative to the camera, degrees."),
    ("roll_deg", "sc:Float", "head_pose", "roll_deg", False, "Head roll relative to the camera, degrees."),
    ("age_years", "sc:Float", "attributes", "age_years", False, "Sampled age of the synthetic identity, years."),
    (
        "gender",
        "sc:Float",
        "attributes",
        "gender",
        False,
        "Gender-presentation shape parameter, 0 = feminine .. 1 = masculine (a body-shape slider, not an identity).",
    ),
    (
        "monk_tone",
        "sc:Integer",
        "attributes",
        "skin.monk_tone",
        False,
        "Monk Skin Tone decile of the sampled melanin parameter (not measured from pixels).",
    ),
    ("expression", "sc:Text", "attributes", "expression.preset", False, "Expression preset."),
    ("glasses", "sc:Boolean", "attributes", "glasses.present", False, "Whether glasses were sampled."),
    ("hair_style", "sc:Text", "attributes", "hair.style", False, "Hair style id."),
    ("backend", "sc:Text", "render", "backend", False, "Renderer: pyrender (rasteriser) or cycles (path tracer)."),
)


def _field(name: str, dtype: str, column: str, path: str | None, repeated: bool, description: str) -> dict:
    source: dict[str, Any] = {"fileObject": {"@id": MANIFEST_ID}, "extract": {"column": column}}
    if path is not None:
        source["transform"] = {"jsonPath": path}
    out: dict[str, Any] = {
        "@type": "cr:Field",
        "@id": f"{RECORDS_ID}/{name}",
        "name": name,
        "description": description,
        "dataType": dtype,
        "source": source,
    }
    if repeated:
        out["repeated"] = True
    return out


def _biases(facts: dict) -> list[str]:
    out = [
        "Every identity is a deformation of one template head (MakeHuman HM08) by three ancestry shape bases, "
        "macro sliders and a few detail targets: identity diversity is far below that of real people.",
        "Ethnicity/ancestry labels are the catalog author's taxonomy, mapped to appearance priors; they are not "
        "anthropological categories. The catalog's distributions, not the world's, set every attribute's "
        "frequency (see the datasheet's distributions and intersection tables).",
    ]
    big = facts.get("largest_imbalance")
    if big:
        out.append(
            f"Largest imbalance in this dataset ({big['table']}): "
            f"{' / '.join(big['max_cell']['levels'])} has {big['max_cell']['count']} samples, "
            f"{' / '.join(big['min_cell']['levels'])} has {big['min_cell']['count']} "
            f"(ratio {big['ratio']:.2f}); {big['empty_cells']} of {big['n_cells']} cells are empty."
        )
    return out


def croissant(facts: dict, header: dict, name: str | None = None) -> dict:
    """The Croissant JSON-LD (a dict) of a dataset, from its datasheet facts and dataset.json ``header``."""
    prov = facts.get("provenance") or {}
    version = header.get("generator_version") or __version__
    catalog_hash = header.get("catalog_hash") or ""
    licence = facts.get("licence") or {}
    backends = ", ".join(sorted((facts.get("labels") or {}).get("backends") or {})) or "pyrender or cycles"
    manifest: dict[str, Any] = {
        "@type": "cr:FileObject",
        "@id": MANIFEST_ID,
        "name": MANIFEST_ID,
        "description": "One JSON object per sample: ids, camera, head pose, landmarks, face box, sampled "
        "attributes, file paths and their sha256.",
        "contentUrl": "manifest.jsonl",
        "encodingFormat": "application/jsonlines",
    }
    if header.get("manifest_sha256"):
        manifest["sha256"] = header["manifest_sha256"]
    files = {
        "@type": "cr:FileSet",
        "@id": FILES_ID,
        "name": FILES_ID,
        "description": "The sample PNGs: NNNNNN.png (sRGB image), NNNNNN_seg.png (class ids), "
        "NNNNNN_depth.png (uint16 depth); each carries provenance text chunks "
        "(synthetic=true, generator, sample_id, seed, catalog_hash).",
        "encodingFormat": "image/png",
        "includes": "samples/*.png",
    }
    image_format = ((header.get("catalog") or {}).get("outputs") or {}).get("image_format", "png")
    quality = ((header.get("catalog") or {}).get("outputs") or {}).get("image_quality")
    lossy = image_format in LOSSY_FORMATS
    distribution = [manifest, files]
    if lossy:
        mime, ext = LOSSY_FORMATS[image_format]
        files["description"] = (
            "The sample label PNGs: NNNNNN_seg.png (class ids), NNNNNN_depth.png (uint16 depth), with "
            "provenance text chunks (synthetic=true, generator, sample_id, seed, catalog_hash)."
        )
        distribution.append(
            {
                "@type": "cr:FileSet",
                "@id": IMAGES_ID,
                "name": IMAGES_ID,
                "description": f"The sRGB images NNNNNN.{ext} ({image_format}, quality {quality}), the "
                "provenance as JSON in EXIF ImageDescription.",
                "encodingFormat": mime,
                "includes": f"samples/*.{ext}",
            }
        )
    created = str(header.get("created") or prov.get("created") or "")
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": name or f"facefarm-{catalog_hash[:8] or 'dataset'}",
        "description": f"{facts['statement']} {facts['n_samples']} images of {facts['n_identities']} synthetic "
        f"identities with 70 landmarks (visibility), segmentation, depth, head pose and camera."
        + (f" {facts['partial']}" if facts.get("partial") else ""),
        "conformsTo": CONFORMS_TO,
        "license": licence.get("url") or LICENCE_URL,
        "version": version,
        "creator": {"@type": "sc:Organization", "name": "facefarm", "url": "https://github.com/facefarm/facefarm"},
        **({"dateCreated": created, "datePublished": created} if created else {}),
        "citeAs": f"facefarm {version} synthetic faces, catalog {catalog_hash}, seed {header.get('seed')}.",
        "url": "https://github.com/facefarm/facefarm",
        "keywords": ["synthetic", "faces", "facial landmarks", "face parsing", "depth", "head pose"],
        "isLiveDataset": False,
        # Responsible AI (Croissant RAI 1.0)
        "rai:dataCollection": (
            f"Rendered, not collected: facefarm {version} sampled every attribute from a catalog (hash "
            f"{catalog_hash}, seed {header.get('seed')}), built a 3D head from a CC0 template model, hair, garments "
            f"and glasses from procedural assets, lit it with an HDRI and rendered it with {backends}. No "
            "photograph of a person was used."
        ),
        "rai:dataCollectionType": ["Synthetic data generation", "Software rendering"],
        "rai:dataCollectionRawData": "None: there are no raw observations; dataset.json holds the catalog that "
        "regenerates every sample exactly.",
        "rai:dataAnnotationProtocol": [
            "Labels are computed, not annotated: landmarks are projections of fixed mesh points with a visibility "
            "test, segmentation and depth are render passes of the same surface, pose and camera are the "
            "generator's own parameters."
        ],
        "rai:machineAnnotationTools": [f"facefarm {version} ({backends})"],
        "rai:dataPreprocessingProtocol": [
            f"Images are written as rendered, {image_format.upper()} at quality {quality} (lossy); labels are "
            "computed before encoding, and segmentation and depth are lossless PNG."
            if lossy
            else "None: images are written as rendered (PNG, lossless)."
        ],
        "rai:dataUseCases": [facts["purpose"]],
        "rai:dataLimitations": list(facts.get("limits") or []),
        "rai:dataBiases": _biases(facts),
        "rai:personalSensitiveInformation": [
            "None. No image depicts a real person and no personal data were used; ancestry, age and gender "
            "values are sampling parameters of synthetic heads, not facts about anyone (a rendered face can "
            "resemble someone by chance)."
        ],
        "rai:dataSocialImpact": (
            "Lets face-analysis models be trained and audited without collecting people's photographs, and "
            "measured across controlled skin tone, age, ancestry label and expression; the same data can "
            "improve face recognition or attribute inference used for surveillance, which the intended use "
            "excludes."
        ),
        "rai:dataReleaseMaintenancePlan": (
            "A dataset is fixed by (facefarm version, catalog, seed): re-render it with the same inputs to "
            "reproduce it, or with a newer facefarm for fixes; the datasheet records the versions."
        ),
        "distribution": distribution,
        "recordSet": [
            {
                "@type": "cr:RecordSet",
                "@id": RECORDS_ID,
                "name": RECORDS_ID,
                "description": "One record per rendered sample (a line of manifest.jsonl).",
                "key": {"@id": f"{RECORDS_ID}/sample_id"},
                "field": [_field(*f) for f in FIELDS],
            },
            {
                "@type": "cr:RecordSet",
                "@id": PNG_RECORDS_ID,
                "name": PNG_RECORDS_ID,
                "description": "Every sample PNG with its path (images, segmentations and depth maps).",
                "field": [
                    {
                        "@type": "cr:Field",
                        "@id": f"{PNG_RECORDS_ID}/path",
                        "name": "path",
                        "dataType": "sc:Text",
                        "description": "Path relative to the dataset root.",
                        "source": {"fileSet": {"@id": FILES_ID}, "extract": {"fileProperty": "fullpath"}},
                    },
                    {
                        "@type": "cr:Field",
                        "@id": f"{PNG_RECORDS_ID}/content",
                        "name": "content",
                        "dataType": "sc:ImageObject",
                        "description": "The PNG.",
                        "source": {"fileSet": {"@id": FILES_ID}, "extract": {"fileProperty": "content"}},
                    },
                ],
            },
        ],
    }
