"""Ask mountgate for host mounts from Python: build the annotation, create the Pod, and read the
API server's answer (its message, status reason and code, and its warnings)."""

from .annotation import ANNOTATION, MAX_ENTRIES, AnnotationError, Mount, annotation_value, text_problems, value_problems
from .pods import SANDBOX_USER_ANNOTATION, Admitted, Refused, create_pod, refusal, sandbox_user_problem, with_mounts
from .warning_headers import ApiWarning, ParsedWarnings, parse_warning_headers, warning_header_values

__all__ = [
    "ANNOTATION",
    "MAX_ENTRIES",
    "Admitted",
    "AnnotationError",
    "ApiWarning",
    "Mount",
    "ParsedWarnings",
    "Refused",
    "SANDBOX_USER_ANNOTATION",
    "annotation_value",
    "create_pod",
    "parse_warning_headers",
    "refusal",
    "sandbox_user_problem",
    "text_problems",
    "value_problems",
    "warning_header_values",
    "with_mounts",
]
