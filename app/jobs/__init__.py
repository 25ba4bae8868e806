"""The jobs runner: scheduled work, never done inside a GET (`flask jobs run`)."""
