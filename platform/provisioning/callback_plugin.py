# mypy: ignore-errors
# (An Ansible plugin: its base class is found at run time, by Ansible's loader.)
"""The stdout callback plugin every run uses, loaded by Ansible inside the sandbox (the runner
copies this file into the run's data dir): ansible-runner's own `awx_display`, whose
skipped-task events also carry why the task was skipped. awx_display leaves the result out,
so a preview could not tell a task check mode skipped (a command, a `when: not
ansible_check_mode`) from one its own condition skipped. No Django, no platform imports.
"""

from ansible.plugins.loader import callback_loader

# Through Ansible's loader, as the one module Ansible loads it as: imported again under its
# package's name, it would patch Ansible's display a second time, and events would be lost.
AwxDisplay = callback_loader.get("awx_display", class_only=True)

# Read by Ansible without running the file: a literal.
DOCUMENTATION = """
    callback: gangplank_display
    short_description: ansible-runner's awx_display, with the reason of each skipped task
    type: stdout
    extends_documentation_fragment:
      - default_callback
"""

# What a skipped result says about why; the rest (a loop's results) stays out of the event.
KEPT = ("msg", "skip_reason", "false_condition")


class CallbackModule(AwxDisplay):
    CALLBACK_NAME = "gangplank_display"

    def v2_runner_on_skipped(self, result):
        """awx_display's event (ansible-runner 2.4), with `res`: the result's reason."""
        host_start, end_time, duration = self._get_result_timing_data(result)
        event_data = {
            "host": result._host.get_name(),
            "remote_addr": result._host.address,
            "task": result._task,
            "start": host_start,
            "end": end_time,
            "duration": duration,
            "event_loop": self._get_event_loop(result._task),
            "res": {key: result._result[key] for key in KEPT if key in result._result},
        }
        with self.capture_event_data("runner_on_skipped", **event_data):
            super(AwxDisplay, self).v2_runner_on_skipped(result)
