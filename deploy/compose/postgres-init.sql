-- One database per service: no service can read another's tables.
CREATE DATABASE certifia_enrolment;
CREATE DATABASE certifia_assessment;
CREATE DATABASE certifia_grading;
CREATE DATABASE certifia_thesis;
CREATE DATABASE certifia_certification;
