"""The reference variants. Each module defines ``VARIANT`` and cites its sources. They are declared
under the ``gan_harness.variants`` entry-point group in pyproject.toml, exactly as a user's own
variant would be, and loaded from there by name: importing this package registers nothing."""
