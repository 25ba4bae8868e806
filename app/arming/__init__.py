"""Arm/disarm records (設定/解除): opening hours, events from the monitoring centre's API, a CSV
import or by hand, and the jobs that notice a site left unarmed or disarmed out of hours."""
