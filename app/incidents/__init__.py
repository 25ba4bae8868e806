"""Incidents 異常事件 and alarm responses 警報處理, with their timelines."""
