"""swmc: a model checker for software-management state machines (OMA DM SCOMO, BBF TR-069).

The pipeline, one module per stage:

    yamlsource -> loader / composition -> system -> explicit + symbolic -> analysis
    -> report / diagrams -> cli

``executable`` turns the same models into `transitions` machines to simulate them and to
replay every witness the engines report.
"""

__version__ = "0.1.0"
