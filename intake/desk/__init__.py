"""The staff desk: server-rendered pages under ``/staff`` for the windows' staff, coordinators and admins."""
