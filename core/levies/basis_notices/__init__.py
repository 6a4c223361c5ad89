"""Basis notices of the tax office (Grundsteuer- and Gewerbesteuermessbescheide,
Zerlegungsbescheide) and the tax objects they are about; their import (docs/MESSBESCHEIDE.md)."""
