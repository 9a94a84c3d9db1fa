#!/usr/bin/env node
import { runNodeJs } from "@bufbuild/protoplugin";
import { protocGenWeft } from "../plugin/protoc-gen-weft.ts";

runNodeJs(protocGenWeft);
