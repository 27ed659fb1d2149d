"""BibTeX entries cited by more than one part of crossalign."""

HOEFLING2026 = """@article{hoefling2026only,
  title={Only Brains Align with Brains: Cross-Region Alignment Patterns Expose Limits of
         Normative Models},
  author={H{\\"o}fling, Larissa and Tangemann, Matthias and Piefke, Lotta and Keller, Susanne and
          Franke, Katrin and Bethge, Matthias},
  journal={arXiv:2604.21780}, year={2026}}"""

SCHUETT2023 = """@article{schuett2023statistical,
  title={Statistical inference on representational geometries},
  author={Sch{\\"u}tt, Heiko H and Kipnis, Alexander D and Diedrichsen, J{\\"o}rn and
          Kriegeskorte, Nikolaus},
  journal={eLife}, volume={12}, pages={e82566}, year={2023}}"""
